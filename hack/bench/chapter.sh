#!/usr/bin/env bash
# Chapters 2 and 3 (as far as the suite goes) as a careful CI author would
# script them with kubectl: every exercise, each step checked, one after another in one
# namespace, and no wait the chapter does not need (polls every 0.2 s, no
# wait for kube-system as a whole, the namespace deleted without waiting for
# it to go). `make bench` times it against `make e2e EXISTING=1` on the same
# cluster: the suite's yardstick, not a test. WAIT_NAMESPACE=1 also waits,
# at the end, until the namespace is gone, as the suite's own end used to.
#
#   KUBECTL=... KUBECONFIG=... CONTEXT=... FIXTURES=chapters/ch02 CH03=chapters/ch03 hack/bench/chapter.sh
set -euo pipefail

: "${KUBECTL:?the kubectl to run (make tools builds one)}" "${KUBECONFIG:?}" "${CONTEXT:?}"
FIXTURES=${FIXTURES:-chapters/ch02}
CH03=${CH03:-chapters/ch03}
WAIT_NAMESPACE=${WAIT_NAMESPACE:-}
for tool in curl python3 docker; do
  command -v "$tool" >/dev/null || { echo "chapter.sh: $tool is not installed" >&2; exit 2; }
done

NS=bench-$$-$RANDOM
work=$(mktemp -d)
cleanup() {
  # forward runs in a command substitution (a subshell), so its
  # port-forwards' PIDs come back through a file, not a variable.
  [ -f "$work/pids" ] && while read -r p; do kill "$p" 2>/dev/null || true; done <"$work/pids"
  local wait=false
  [ -n "$WAIT_NAMESPACE" ] && wait=true
  "$KUBECTL" --context "$CONTEXT" delete namespace "$NS" --wait="$wait" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
k() { "$KUBECTL" --context "$CONTEXT" -n "$NS" "$@"; }
fail() { echo "chapter.sh: $*" >&2; exit 1; }
expect() { grep -qE -- "$1" <<<"$2" || fail "expected /$1/ in: $2"; }
# until_ok CMD...: run CMD every 0.2 s until it succeeds, for at most 90 s
# (a condition to evaluate afresh each time goes through eval).
until_ok() {
  local deadline=$((SECONDS + 90))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "gave up waiting for: $*"
    sleep 0.2
  done
}
# forward TARGET NAME: kubectl port-forward on a free port; prints the port.
forward() {
  k port-forward --address 127.0.0.1 "$1" :80 >"$work/pf.$2" 2>&1 &
  echo $! >>"$work/pids"
  until_ok grep -qs 'Forwarding from 127.0.0.1:[0-9]*' "$work/pf.$2"
  grep -o 'Forwarding from 127.0.0.1:[0-9]*' "$work/pf.$2" | head -1 | sed 's/.*://'
}
ready_pods() { k get pods "$@" -o jsonpath='{range .items[*]}{.metadata.deletionTimestamp}{.status.containerStatuses[0].ready}{"\n"}{end}' | grep -cx true || true; }

"$KUBECTL" --context "$CONTEXT" create namespace "$NS" >/dev/null
"$KUBECTL" --context "$CONTEXT" -n "$NS" create serviceaccount default >/dev/null 2>&1 || true

# The cluster, as the suite checks it: nodes Ready, the control plane's Pods
# Running (looked at once: a healthy cluster has them).
expect ' Ready ' "$("$KUBECTL" --context "$CONTEXT" get nodes)"
expect 'kube-apiserver-.* 1/1 +Running' "$("$KUBECTL" --context "$CONTEXT" -n kube-system get pods)"

# 2.1 Pods
expect 'pod/hello-kiamol created' "$(k run hello-kiamol --image=kiamol/ch02-hello-kiamol)"
k wait --for=condition=Ready pod hello-kiamol --timeout=90s >/dev/null
expect '^hello-kiamol +1/1 +Running' "$(k get pods)"
cols=$(k get pod hello-kiamol --output custom-columns=NAME:metadata.name,NODE_IP:status.hostIP,POD_IP:status.podIP --no-headers)
read -r _ hostip podip <<<"$cols"
[ "$hostip" != "$podip" ] || fail "pod IP $podip is the node's"
id=$(k get pod hello-kiamol -o jsonpath='{.status.containerStatuses[0].containerID}')
expect '^containerd://' "$id"
uid=$(k get pod hello-kiamol -o jsonpath='{.metadata.uid}')
node=$(k get pod hello-kiamol -o jsonpath='{.spec.nodeName}')
expect "${id#containerd://}" "$(docker exec "$node" crictl inspect --output go-template --template '{{.status.id}}' "${id#containerd://}")"
port=$(forward pod/hello-kiamol pod)
until_ok curl -sf "http://127.0.0.1:$port/"
expect 'Hello from Chapter 2!' "$(curl -sf "http://127.0.0.1:$port/")"
cid=$(docker exec "$node" crictl --timeout 60s ps -q --label io.kubernetes.container.name=hello-kiamol --label io.kubernetes.pod.namespace="$NS")
docker exec "$node" crictl --timeout 60s rm -f "$cid" >/dev/null
healed() {
  [ "$(k get pod hello-kiamol -o jsonpath='{.metadata.uid} {.status.containerStatuses[0].containerID} {.status.containerStatuses[0].ready}')" != "$uid $id true" ] &&
    [ "$(k get pod hello-kiamol -o jsonpath='{.metadata.uid} {.status.containerStatuses[0].ready}')" = "$uid true" ]
}
until_ok healed
until_ok curl -sf "http://127.0.0.1:$port/"

# 2.2 Deployments
expect 'deployment.apps/hello-kiamol-2 created' "$(k create deployment hello-kiamol-2 --image=kiamol/ch02-hello-kiamol)"
k rollout status deploy/hello-kiamol-2 --timeout=90s >/dev/null
expect '^\{"app":"hello-kiamol-2"\}$' "$(k get deploy hello-kiamol-2 -o jsonpath='{.spec.template.metadata.labels}')"
expect '^hello-kiamol-2-[a-z0-9]+-[a-z0-9]{5} ' "$(k get pods -l app=hello-kiamol-2 --no-headers)"
port=$(forward deploy/hello-kiamol-2 deploy)
until_ok curl -sf "http://127.0.0.1:$port/"
k label pods -l app=hello-kiamol-2 --overwrite app=hello-kiamol-x >/dev/null
until_ok eval '[ "$(ready_pods -l app=hello-kiamol-2)" = 1 ]'
k label pods -l app=hello-kiamol-x --overwrite app=hello-kiamol-2 >/dev/null
until_ok eval '[ "$(k get pods -l app=hello-kiamol-2 -o name | wc -l)" = 1 ]'

# 2.3 Manifests
expect 'pod/hello-kiamol-3 created' "$(k apply -f "$FIXTURES/pod.yaml")"
expect 'deployment.apps/hello-kiamol-4 created' "$(k apply -f "$FIXTURES/deployment.yaml")"
k wait --for=condition=Ready pod hello-kiamol-3 --timeout=90s >/dev/null
k rollout status deploy/hello-kiamol-4 --timeout=90s >/dev/null
expect 'pod/hello-kiamol-3 unchanged' "$(k apply -f "$FIXTURES/pod.yaml")"
expect 'deployment.apps/hello-kiamol-4 unchanged' "$(k apply -f "$FIXTURES/deployment.yaml")"
(cd "$FIXTURES/.." && exec python3 -m http.server --bind 127.0.0.1 0 >"$work/http" 2>&1) &
echo $! >>"$work/pids"
until_ok grep -q 'port [0-9]*' "$work/http"
hport=$(grep -o 'port [0-9]*' "$work/http" | head -1 | cut -d' ' -f2)
expect 'pod/hello-kiamol-3 unchanged' "$(k apply -f "http://127.0.0.1:$hport/ch02/pod.yaml")"

# 2.4 Working with the app in its Pod
expect "$podip" "$(k exec hello-kiamol -- sh -c 'hostname -i')"
expect 'Hello from Chapter 2!' "$(k exec hello-kiamol -- sh -c 'wget -O - http://localhost | head -n 4' 2>/dev/null)"
port=$(forward pod/hello-kiamol logs)
until_ok curl -sf "http://127.0.0.1:$port/?from=script"
until_ok sh -c "'$KUBECTL' --context '$CONTEXT' -n '$NS' logs --tail=2 hello-kiamol | grep -q 'GET /?from=script'"
port4=$(forward deploy/hello-kiamol-4 logs4)
until_ok curl -sf "http://127.0.0.1:$port4/?from=label"
until_ok sh -c "'$KUBECTL' --context '$CONTEXT' -n '$NS' logs --tail=1 -l app=hello-kiamol-4 | grep -q 'GET /?from=label'"
mkdir -p "$work/kiamol/ch02"
k cp "hello-kiamol:/usr/share/nginx/html/index.html" "$work/kiamol/ch02/index.html" >/dev/null
cmp -s "$work/kiamol/ch02/index.html" <(curl -sf "http://127.0.0.1:$port/") || fail "the copied page is not the served one"

# 2.5 Resource management
k delete pods --all >/dev/null
until_ok eval '[ "$(ready_pods -l "app in (hello-kiamol-2,hello-kiamol-4)")" = 2 ]'
until_ok eval '[ -z "$(k get pods hello-kiamol hello-kiamol-3 --ignore-not-found -o name)" ]'
k delete deploy --all >/dev/null
until_ok eval '[ -z "$(k get pods,replicasets -o name)" ]'

# 2.6 Lab
expect 'deployment.apps/whoami created' "$(k apply -f "$FIXTURES/lab/solution/deployment.yaml")"
k rollout status deploy/whoami --timeout=90s >/dev/null
pod=$(k get pods -l app=whoami,version=ch02 -o jsonpath='{.items[0].metadata.name}')
port=$(forward deploy/whoami lab)
until_ok curl -sf "http://127.0.0.1:$port/"
expect "I'm $pod running on " "$(curl -sf "http://127.0.0.1:$port/")"
expect "^$pod\$" "$(k exec deploy/whoami -- sh -c 'hostname')"

# 3.1 Pods by IP, a Service by name
k apply -f "$CH03/sleep/sleep1.yaml" -f "$CH03/sleep/sleep2.yaml" >/dev/null
k rollout status deploy/sleep-1 --timeout=90s >/dev/null
k rollout status deploy/sleep-2 --timeout=90s >/dev/null
ip2=$(k get pod -l app=sleep-2 --output jsonpath='{.items[0].status.podIP}')
expect '2 packets transmitted, 2 packets received' "$(k exec deploy/sleep-1 -- ping -c 2 "$ip2")"
k apply -f "$CH03/sleep/sleep2-service.yaml" >/dev/null
cip=$(k get svc sleep-2 -o jsonpath='{.spec.clusterIP}')
expect "Address:[[:space:]]+$cip" "$(k exec deploy/sleep-1 -- nslookup sleep-2 2>/dev/null || true)"

# 3.2 The numbers app through its Service
click() { # PORT: load the page, press Go!, print the answer
  local jar="$work/jar.$1" token
  token=$(curl -sf -c "$jar" "http://127.0.0.1:$1/" | grep -o 'name="__RequestVerificationToken" type="hidden" value="[^"]*"' | sed 's/.*value="//; s/"$//')
  curl -sf -b "$jar" --data-urlencode "__RequestVerificationToken=$token" "http://127.0.0.1:$1/"
}
k apply -f "$CH03/numbers/api.yaml" -f "$CH03/numbers/web.yaml" >/dev/null
k rollout status deploy/numbers-api --timeout=90s >/dev/null
k rollout status deploy/numbers-web --timeout=90s >/dev/null
port=$(forward deploy/numbers-web numbers)
until_ok curl -sf "http://127.0.0.1:$port/"
expect 'RNG service unavailable!' "$(click "$port")"
k apply -f "$CH03/numbers/api-service.yaml" >/dev/null
until_ok eval 'click "$port" | grep -q "Here it is: "'
k delete pods -l app=numbers-api >/dev/null
until_ok eval '[ "$(ready_pods -l app=numbers-api)" = 1 ]'
until_ok eval 'click "$port" | grep -q "Here it is: "'
echo "chapter.sh: every exercise as the book says"
