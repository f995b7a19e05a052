package ch03

import (
	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/spec"
)

// 3.3: routing external traffic to Pods. What a LoadBalancer or a NodePort
// Service gives depends on the cluster (an address from a cloud, Docker
// Desktop's localhost, a node's port): declared with what they need, and
// not checked yet.

var loadBalancer = spec.Claim{Claim: book.Claim{ID: "3.3/loadbalancer", Labels: []string{"network", "services"},
	Says:  "a Service of type LoadBalancer publishes the web app outside the cluster, at the address the cluster gives it, on port 8080",
	Needs: []book.Need{book.LoadBalancer},
	Steps: []book.Step{book.Kubectl("kubectl apply -f numbers/web-service.yaml"), book.Kubectl("kubectl get svc numbers-web")},
	Later: "the suite does not yet find out whether a cluster gives LoadBalancer Services an address this machine reaches"}}

var nodePort = spec.Claim{Claim: book.Claim{ID: "3.3/nodeport", Labels: []string{"network", "services"},
	Says:  "a Service of type NodePort publishes the web app on port 30080 of every node",
	Needs: []book.Need{book.NodePort},
	Steps: []book.Step{book.Kubectl("kubectl apply -f numbers-services/web-service-nodePort.yaml"), book.Kubectl("kubectl get svc numbers-web-node")},
	Later: "the suite does not yet find out whether this machine reaches a node's ports"}}
