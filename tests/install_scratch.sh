# Sourced by the tests of the installed library (cmake_consumer/run.sh,
# installed_contract/run.sh). install_scratch BUILD_ROOT SCRATCH SANITIZE
# installs the build into SCRATCH/dest (a DESTDIR: paths inside are
# SCRATCH/dest/<prefix>/...), or exits 77 (meson's "skipped") in a sanitized
# build, whose installed library needs the sanitizer's runtime loaded first:
# the plain build checks the installed files.
install_scratch() {
  local build_root=$1 scratch=$2 sanitize=$3
  if [ "$sanitize" != none ]; then
    echo "SKIP: the installed library is checked in a build without sanitizers"
    exit 77
  fi
  rm -rf "$scratch"
  mkdir -p "$scratch"
  "${MESON:-meson}" install -C "$build_root" --destdir "$scratch/dest" --no-rebuild --quiet
  unset LD_LIBRARY_PATH  # meson test points it at the build tree
}
