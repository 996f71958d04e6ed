#!/usr/bin/env bash
# Usage: envtest-assets.sh kube|controllers|kwok|s3|jaeger|kubectl|knative-crds
#
# Prints the directory that holds real server binaries for the test environment, building
# them first if needed:
#   kube         `kube-apiserver` and `etcd`, the Kubernetes API server (as Kubebuilder's
#                envtest runs it)
#   controllers  `kube-controller-manager` and `kube-scheduler`, from the same Kubernetes
#                release as the API server
#   kwok         `kwok`, which simulates Nodes and their Pods without containers, and
#                `kwok-stages.yaml`, the kwok module's own fast stages (kwok has none built in)
#   s3           `versitygw`, an S3-protocol gateway over a local directory that verifies SigV4
#                signatures as S3 does
#   kubectl      `kubectl`, from the same Kubernetes release as the API server: renders deploy/
#                with `kubectl kustomize` and dry-runs it in the deploy manifests test
#   knative-crds the CRDs of Knative Serving and Eventing that deploy/ uses (Service, Broker,
#                Trigger, ApiServerSource, PingSource, SinkBinding), copied from the config/
#                folders of the knative.dev/serving and knative.dev/eventing Go modules
#   jaeger       `jaeger`, Jaeger v2 (OTLP receiver, in-memory storage, query API) for the trace
#                test; built by test/env/jaeger/go.mod (cold: about 5 minutes, 2.2 GB of memory)
#
# kube: when KUBEBUILDER_ASSETS is set (Kubebuilder's envtest convention), that directory is
# used as is. controllers, kwok: KUBEBUILDER_ASSETS is used when it holds every file of the
# part, else they are built (setup-envtest ships neither). Otherwise, and always for s3, the
# binaries are built from their published Go modules (Kubernetes and etcd pinned in
# test/env/assets/go.mod, kwok and versitygw below) into a cache outside the repository, so
# only the first run pays the build (from empty Go caches on 2 cores: kube 6.5 minutes; then
# controllers about 2 minutes, as they share most packages with the API server; kwok about 2
# minutes, in parallel). SBR_ENVTEST_CACHE overrides the cache directory.
#
# Progress goes to stderr; the only line on stdout is the directory.
set -euo pipefail

VERSITYGW_VERSION=v1.8.0
# Knative 1.21.2 (module versions v0.48.2): the CRDs deploy/ is dry-run against. The module
# proxy serves these versions when asked by version (not eventing v0.48.3 or later).
KNATIVE_SERVING_VERSION=v0.48.2
KNATIVE_EVENTING_VERSION=v0.48.2
# module:file under its config/ (knative-facts.md section 8); copied as <module>-<file name>.
KNATIVE_CRDS=(serving:core/300-resources/service.yaml eventing:core/resources/broker.yaml
  eventing:core/resources/trigger.yaml eventing:core/resources/apiserversource.yaml
  eventing:core/resources/pingsource.yaml eventing:core/resources/sinkbindings.yaml)
# kwok stays out of the assets module: its requirements would upgrade modules the API server
# and etcd share with it (otel, grpc, x/net), so it is built by its own go.mod.
KWOK_VERSION=v0.8.0
# The stages of the kwok module (kustomize/stage/) that make Nodes Ready and keep them so, and
# take Pods to Running and Ready, to Succeeded (Jobs' Pods) and away when deleted. pod-ready
# matches only Pending Pods, so a test may set a Running Pod unready and kwok leaves it so.
KWOK_STAGES=(node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease
  pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete)

part="${1:-}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module_dir="$root/test/env/assets"
cache_root="${SBR_ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/supabase-reconciler/envtest}"
go_min="$(awk '$1 == "go" { print $2; exit }' "$module_dir/go.mod")"
# Jaeger has its own go.mod, which pins it: `go install …@version` refuses the module (its go.mod
# has replace directives), and in the assets module its requirements would upgrade modules the
# API server shares with it. Module v1.76.0 is Jaeger v2.13.0, the image the observability
# component (deploy/components/observability) runs.
jaeger_module_dir="$root/test/env/jaeger"

# The -ldflags of a Kubernetes binary: stripped, and stamped with its release (`kubectl
# version`, the API server's /version), as the release build does.
k8s_ldflags() {
  local minor="${k8s_version#v1.}"
  minor="${minor%%.*}"
  local pkg=k8s.io/component-base/version
  echo "-s -w -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
}

# The versions are read from go.mod so that it stays the one place they are pinned.
module_version() { awk -v m="$1" '$1 == m && NF >= 2 { print $2; exit }' "$module_dir/go.mod"; }

case "$part" in
  kube)
    if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
      for bin in kube-apiserver etcd; do
        if [ ! -x "$KUBEBUILDER_ASSETS/$bin" ]; then
          echo "envtest-assets: KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable '$bin';" >&2
          echo "envtest-assets: point it at a directory with kube-apiserver and etcd, or unset it to build them with Go." >&2
          exit 1
        fi
      done
      echo "$KUBEBUILDER_ASSETS"
      exit 0
    fi
    k8s_version="$(module_version k8s.io/kubernetes)"
    etcd_version="$(module_version go.etcd.io/etcd/server/v3)"
    dir="$cache_root/kube-apiserver-$k8s_version-etcd-$etcd_version"
    binaries=(kube-apiserver etcd)
    what="kube-apiserver $k8s_version and etcd $etcd_version"
    alternative="or set KUBEBUILDER_ASSETS to a directory containing both binaries (for example the output of: setup-envtest use ${k8s_version#v} -p path)."
    ;;
  controllers)
    k8s_version="$(module_version k8s.io/kubernetes)"
    binaries=(kube-controller-manager kube-scheduler)
    dir="$cache_root/kube-controllers-$k8s_version"
    what="kube-controller-manager and kube-scheduler $k8s_version"
    alternative="or put both binaries (Kubernetes $k8s_version) into the directory named by KUBEBUILDER_ASSETS."
    ;;
  kwok)
    binaries=(kwok kwok-stages.yaml)
    dir="$cache_root/kwok-$KWOK_VERSION"
    what="kwok $KWOK_VERSION (simulated Nodes and Pods)"
    alternative="or put kwok $KWOK_VERSION and kwok-stages.yaml (its kustomize/stage files ${KWOK_STAGES[*]}, as one YAML stream) into the directory named by KUBEBUILDER_ASSETS."
    ;;
  jaeger)
    JAEGER_VERSION="$(awk '$1 == "github.com/jaegertracing/jaeger" { print $2; exit }' "$jaeger_module_dir/go.mod")"
    dir="$cache_root/jaeger-$JAEGER_VERSION"
    binaries=(jaeger)
    what="Jaeger $JAEGER_VERSION (the trace test's OTLP receiver and query API)"
    alternative="or build Jaeger $JAEGER_VERSION's cmd/jaeger (from a module requiring it, as test/env/jaeger/go.mod does) and copy the binary to $dir/jaeger."
    ;;
  kubectl)
    k8s_version="$(module_version k8s.io/kubernetes)"
    binaries=(kubectl)
    dir="$cache_root/kubectl-$k8s_version"
    what="kubectl $k8s_version (renders and dry-runs deploy/)"
    alternative="or put kubectl (Kubernetes $k8s_version; setup-envtest ships it) into the directory named by KUBEBUILDER_ASSETS."
    ;;
  knative-crds)
    binaries=()
    for entry in "${KNATIVE_CRDS[@]}"; do
      file="${entry#*:}"
      binaries+=("${entry%%:*}-${file##*/}")
    done
    dir="$cache_root/knative-crds-serving-$KNATIVE_SERVING_VERSION-eventing-$KNATIVE_EVENTING_VERSION"
    what="the Knative Serving $KNATIVE_SERVING_VERSION and Eventing $KNATIVE_EVENTING_VERSION CRDs"
    alternative="or copy ${KNATIVE_CRDS[*]} from the config/ folders of knative.dev/serving@$KNATIVE_SERVING_VERSION and knative.dev/eventing@$KNATIVE_EVENTING_VERSION into $dir, named ${binaries[*]}."
    ;;
  s3)
    dir="$cache_root/versitygw-$VERSITYGW_VERSION"
    binaries=(versitygw)
    what="versitygw $VERSITYGW_VERSION (the S3 server of the tests)"
    alternative="or build github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION elsewhere and copy it to $dir/versitygw."
    ;;
  *)
    echo "usage: $0 kube|controllers|kwok|s3|jaeger|kubectl|knative-crds" >&2
    exit 2
    ;;
esac

have_all() {
  local file
  for file in "${binaries[@]}"; do
    case "$file" in
      *.yaml) [ -f "$1/$file" ] || return 1 ;;
      *) [ -x "$1/$file" ] || return 1 ;;
    esac
  done
}

# The optional parts are looked up in KUBEBUILDER_ASSETS first, then built.
if [ "$part" = controllers ] || [ "$part" = kwok ] || [ "$part" = kubectl ]; then
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && have_all "$KUBEBUILDER_ASSETS"; then
    echo "$KUBEBUILDER_ASSETS"
    exit 0
  fi
fi

if have_all "$dir"; then
  echo "$dir"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "envtest-assets: the test environment needs $what. Install Go >= $go_min (https://go.dev/dl/) so it can be built from its Go modules, $alternative" >&2
  exit 1
fi

mkdir -p "$cache_root"
# One build at a time per cache: parallel test runs on one machine share it.
exec 9>"$cache_root/.build-$part.lock"
flock 9
if have_all "$dir"; then
  echo "$dir"
  exit 0
fi

staging="$(mktemp -d "$cache_root/.build.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
started=$SECONDS
echo "envtest-assets: building $what from Go modules into $dir (first run only; takes minutes)" >&2
export CGO_ENABLED=0
case "$part" in
  kube)
    (
      cd "$module_dir"
      export GOFLAGS=-mod=readonly
      go build -trimpath \
        -ldflags "$(k8s_ldflags)" \
        -o "$staging/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
      go build -trimpath -ldflags "-s -w" -o "$staging/etcd" go.etcd.io/etcd/server/v3
    ) >&2
    ;;
  controllers)
    (
      cd "$module_dir"
      export GOFLAGS=-mod=readonly
      for bin in "${binaries[@]}"; do
        go build -trimpath \
          -ldflags "$(k8s_ldflags)" \
          -o "$staging/$bin" "k8s.io/kubernetes/cmd/$bin"
      done
    ) >&2
    ;;
  kwok)
    # Outside any module (a scratch directory), so kwok's own go.mod decides its dependencies.
    (
      cd "$staging"
      GOBIN="$staging" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
      source_dir="$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" |
        awk -F'"' '$2 == "Dir" { print $4 }')"
      for stage in "${KWOK_STAGES[@]}"; do
        echo "---"
        echo "# sigs.k8s.io/kwok@$KWOK_VERSION kustomize/stage/$stage.yaml"
        cat "$source_dir/kustomize/stage/$stage.yaml"
      done >"$staging/kwok-stages.yaml"
    ) >&2
    ;;
  jaeger)
    (
      cd "$jaeger_module_dir"
      export GOFLAGS=-mod=readonly
      go build -trimpath \
        -ldflags "-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=$JAEGER_VERSION" \
        -o "$staging/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger
    ) >&2
    ;;
  kubectl)
    (
      cd "$module_dir"
      export GOFLAGS=-mod=readonly
      go build -trimpath \
        -ldflags "$(k8s_ldflags)" \
        -o "$staging/kubectl" k8s.io/kubernetes/cmd/kubectl
    ) >&2
    ;;
  knative-crds)
    # Outside any module (a scratch directory): only downloads, nothing is built.
    (
      cd "$staging"
      serving_dir="$(go mod download -json "knative.dev/serving@$KNATIVE_SERVING_VERSION" |
        awk -F'"' '$2 == "Dir" { print $4 }')"
      eventing_dir="$(go mod download -json "knative.dev/eventing@$KNATIVE_EVENTING_VERSION" |
        awk -F'"' '$2 == "Dir" { print $4 }')"
      for entry in "${KNATIVE_CRDS[@]}"; do
        module="${entry%%:*}"
        file="${entry#*:}"
        if [ "$module" = serving ]; then source_dir="$serving_dir"; else source_dir="$eventing_dir"; fi
        # Module files are read-only: they are read, never moved. A conversion webhook
        # (PingSource's, v1 <-> v1beta2) points at Knative's webhook Service, which a test API
        # server does not run: strategy None instead (deploy/ writes only v1, nothing converts).
        awk '
          /^  conversion:$/ { print; print "    strategy: None"; skipping = 1; next }
          skipping && /^    / { next }
          { skipping = 0; print }
        ' "$source_dir/config/$file" >"$staging/$module-${file##*/}"
      done
    ) >&2
    ;;
  s3)
    # versitygw's own go.mod decides its dependencies (it has no replace directives).
    GOBIN="$staging" go install -trimpath -ldflags "-s -w" \
      "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" >&2
    ;;
esac
mkdir -p "$dir"
for file in "${binaries[@]}"; do mv "$staging/$file" "$dir/"; done
echo "envtest-assets: built $what in $((SECONDS - started)) s" >&2
echo "$dir"
