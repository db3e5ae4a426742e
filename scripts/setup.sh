#!/usr/bin/env bash
# Makes a Go toolchain new enough for go.mod available on PATH, installing
# it from Debian when there is none. Sourced by the other scripts.
set -euo pipefail

need_go() {
	export PATH="/usr/local/go/bin:${HOME:-/root}/go/bin:$PATH"
	if ! command -v go >/dev/null 2>&1; then
		echo "setup: no Go toolchain found; installing Debian's golang-go" >&2
		if [ "$(id -u)" -ne 0 ]; then
			echo "setup: run as root (or install Go >= 1.21 yourself) to continue" >&2
			exit 1
		fi
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go ca-certificates >/dev/null
	fi
	# Go >= 1.21 fetches the toolchain go.mod asks for through the module proxy.
	export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
	local v
	v=$(go env GOVERSION 2>/dev/null || true)
	case "$v" in
	go1.1[0-9]* | go1.20* | "")
		echo "setup: $(go version 2>/dev/null || echo 'go') is too old for this module (needs Go >= 1.21 to fetch its toolchain)" >&2
		exit 1
		;;
	esac
	export CGO_ENABLED="${CGO_ENABLED:-0}"
}

need_go
