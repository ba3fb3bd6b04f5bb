#!/bin/sh
# Installs the Debian 12 packages cnn needs, only those missing (apt-get as root, sudo otherwise).
# --torch also installs python3-torch, python3-torchvision, python3-pil and python3-sklearn (benchmarks and parity
# fixtures; scikit-learn's Ridge is the reference of bench/gp_sklearn.py).
set -e
pkgs="gcc make pkg-config lua5.4 liblua5.4-dev libopenblas-dev libpng-dev zlib1g-dev libjpeg62-turbo-dev libmicrohttpd-dev libopenmpi-dev openmpi-bin curl chromium chromium-driver lua-busted luarocks lua-cjson lua-expat lua-system dataset-fashion-mnist plink1.9"
[ "$1" = "--torch" ] && pkgs="python3-torch python3-torchvision python3-pil python3-sklearn"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq $missing
