#!/usr/bin/env bash
# Installs the Debian 12 packages errbridge builds and tests with. Idempotent: apt-get runs
# only when a package is missing. Sourced by scripts/run.sh and scripts/test.sh.
set -euo pipefail

ERRBRIDGE_PACKAGES=(
    cmake ninja-build g++ pkg-config
    catch2 libbenchmark-dev rapidjson-dev libtoml11-dev libpugixml-dev
    libpaho-mqtt-dev libpaho-mqttpp-dev libssl-dev libboost-dev libsystemd-dev
    systemd  # systemd-analyze: the unit's exposure test
    mosquitto mosquitto-clients libmosquitto-dev
    openssl  # the integration tests make a throwaway PKI with its CLI
    clang-14 libclang-rt-14-dev
)

errbridge_install_deps() {
    local missing=()
    for package in "${ERRBRIDGE_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$package")
    done
    if ((${#missing[@]} == 0)); then
        echo "deps: all ${#ERRBRIDGE_PACKAGES[@]} packages present"
        return
    fi
    echo "deps: installing ${missing[*]}"
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
}
