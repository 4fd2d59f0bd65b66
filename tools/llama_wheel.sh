#!/usr/bin/env bash
# Build llama-cpp-python once per machine into a cache folder named after its version and
# CMake flags, and print the wheel's path. Called by the Makefile's install step.
#   tools/llama_wheel.sh PIP VERSION CACHE_DIR "CMAKE FLAGS"
# A lock makes concurrent `make` runs wait for one build instead of racing.
set -euo pipefail
pip=$1 version=$2 dir=$3 flags=$4
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
wheel=$(ls "$dir"/llama_cpp_python-"$version"-*.whl 2>/dev/null | head -1 || true)
if [ -z "$wheel" ]; then
    echo "compiling llama.cpp (llama-cpp-python $version; once per machine, about 5 minutes on 2 cores)" >&2
    rm -rf "$dir.tmp"
    CMAKE_ARGS="$flags" "$pip" wheel --quiet --no-deps --no-binary llama-cpp-python --no-cache-dir \
        -w "$dir.tmp" "llama-cpp-python==$version" >&2
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
    wheel=$(ls "$dir"/llama_cpp_python-"$version"-*.whl | head -1)
fi
echo "$wheel"
