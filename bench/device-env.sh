# Sourced by the device-run scripts that run the bundled node programs on the GPU machine: the
# repository root as working directory, $OUT made, node unpacked to /tmp/node (from .device/,
# carried), the addon for @alto/kernels' loader.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT"
xz -dc .device/node.xz > /tmp/node && chmod +x /tmp/node
export ALTO_KERNELS_ADDON="$PWD/.device/alto_kernels.node"
