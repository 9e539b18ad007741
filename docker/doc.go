// Package docker holds qlab's container image: docker/Dockerfile (the image
// users build), compose.yaml, install.sh (the install steps, also run by the
// notebooks tests outside Docker), the qlab-healthcheck script, and the CI
// side — ci-image.sh builds the Dockerfile with podman on a locally made
// debian:bookworm and runs smoke.Containerfile (smoke.sh) on the result.
//
// The package has no Go code of its own. Its tests read compose.yaml and the
// Dockerfile and check what the README promises of them, which no build can
// show: the port is published on 127.0.0.1 only, the server needs a token,
// results live in a named volume at the image's QLAB_RESULTS_DIR, the image
// runs as a non-root user, and its HEALTHCHECK is the qlab-healthcheck
// script that the smoke stage runs.
package docker
