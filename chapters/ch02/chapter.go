// Package ch02 is chapter 2 of the book, "Running containers in Kubernetes
// with Pods and Deployments": the hello-kiamol web app run as a bare Pod, by
// a Deployment and from manifests, worked with inside its Pod, deleted, and
// the whoami lab. One file per section of the book holds its claims, each
// one value: what the book says, the book's commands as the steps its body
// runs, and the body.
package ch02

import (
	"embed"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/spec"
)

//go:embed pod.yaml deployment.yaml lab
var manifests embed.FS

// The chapter's images and what the claims know of them.
const (
	HelloKiamol = "kiamol/ch02-hello-kiamol"
	Whoami      = "kiamol/ch02-whoami"
	// helloKiamolPage is where the real image (nginx) keeps the page it serves.
	helloKiamolPage = "/usr/share/nginx/html/index.html"
	// heading is the chapter's page heading.
	heading = "Hello from Chapter 2!"
)

// Chapter is chapter 2, its claims in the book's order.
var Chapter = spec.NewChapter(&book.Chapter{
	ID:        "ch02",
	Title:     "Chapter 2: Running containers in Kubernetes with Pods and Deployments",
	Manifests: manifests,
	Objects: []book.Object{
		{File: "pod.yaml", Kind: "Pod", Name: "hello-kiamol-3"},
		{File: "deployment.yaml", Kind: "Deployment", Name: "hello-kiamol-4"},
		{File: "lab/solution/deployment.yaml", Kind: "Deployment", Name: "whoami"},
	},
	Images: []book.Image{
		{
			// The real image is nginx:1.21-alpine with the chapter's page in
			// nginx's web root; nginx logs each request to stdout.
			Ref: HelloKiamol,
			StandIn: book.StandIn{
				Program:    "images/standins/hello-kiamol",
				Entrypoint: "/usr/local/bin/hello-kiamol",
				Busybox:    true,
				// exec's hostname, wget and head, cp's tar
				Applets: []string{"sh", "hostname", "wget", "head", "tar", "cat"},
				Files:   map[string]string{helloKiamolPage: "hello-kiamol/html/index.html"},
				Port:    80,
			},
		},
		{
			// The real image is an ASP.NET app on Alpine answering GET / with
			// a JSON string naming the host and its OS.
			Ref: Whoami,
			StandIn: book.StandIn{
				Program:    "images/standins/whoami",
				Entrypoint: "/app/whoami", // where the real image keeps its app, off PATH: busybox has a whoami too
				Busybox:    true,
				Applets:    []string{"sh", "hostname"},
				Port:       80,
			},
		},
	},
},
	// 2.1
	podReady, containerID, portForwardPod, selfHealing, selfHealingForward,
	// 2.2
	deploymentPod, portForwardDeployment, relabel,
	// 2.3
	apply, applyURL, applyAgain,
	// 2.4
	execIP, execPage, logs, logsByLabel, cp,
	// 2.5
	deletePods, deleteDeployments,
	// 2.6
	labLabels, labWhoami,
)

// The book's commands that several claims run.
var (
	runHello = book.Kubectl("kubectl run hello-kiamol --image=kiamol/ch02-hello-kiamol")
	// forwardPod: the book's 8080 may be taken, and kubectl listens on ::1
	// too, which not every machine has.
	forwardPod        = book.Kubectl("kubectl port-forward pod/hello-kiamol 8080:80").Sub("8080:80", "--address=127.0.0.1 :80", freePort)
	createDeployment  = book.Kubectl("kubectl create deployment hello-kiamol-2 --image=kiamol/ch02-hello-kiamol")
	applyPod          = book.Kubectl("kubectl apply -f pod.yaml")
	applyDeployment   = book.Kubectl("kubectl apply -f deployment.yaml")
	applyLab          = book.Kubectl("kubectl apply -f lab/solution/deployment.yaml")
	removeHelloKiamol = book.Runtime("docker container rm -f $(docker container ls -q --filter label=io.kubernetes.container.name=hello-kiamol)",
		"the container removed through the node's runtime, the way this run reaches it")
)

// freePort is why a port-forward listens where it does.
const freePort = "a free local port, picked by kubectl, on 127.0.0.1 only"
