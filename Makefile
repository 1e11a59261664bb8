# Thin wrapper over Meson/Ninja. The two commands for a new user: `make demo` and `make check`.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
ARM64_BUILD ?= build-arm64
PYTHON     ?= /usr/bin/python3
MESON_SETUP = meson setup --wrap-mode=nodownload

.PHONY: all deps build check test unit system asan fuzz demo bench clean package check-package deps-arm64 \
        check-arm64 check-arm64-system

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	$(MESON_SETUP) $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Every test: cmocka unit tests, then system tests against the real daemon with real clients.
check: build
	scripts/run-tests $(BUILD)

unit: build
	meson test -C $(BUILD) --print-errorlogs --suite unit

system: build
	SAFECAM_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q tests/system

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps
	[ -f $(ASAN_BUILD)/build.ninja ] || $(MESON_SETUP) $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  SAFECAM_SKIP_BROWSER=1 SAFECAM_SANITIZER=1 scripts/run-tests $(ASAN_BUILD)

# libFuzzer targets, each run briefly (FUZZ_SECONDS per target).
fuzz: deps
	[ -f $(FUZZ_BUILD)/build.ninja ] || CC=clang $(MESON_SETUP) $(FUZZ_BUILD) -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
	scripts/run-fuzz $(FUZZ_BUILD)

# SAFECAM_BIND (default 127.0.0.1), SAFECAM_SOURCE (default testsrc; file:/abs/path.mp4, v4l2:/dev/videoN),
# SAFECAM_HTTPS_PORT, SAFECAM_RTSPS_PORT: from the environment or the make command line.
demo: build
	SAFECAM_BIND="$(SAFECAM_BIND)" SAFECAM_SOURCE="$(SAFECAM_SOURCE)" scripts/demo $(BUILD)

bench: build
	scripts/run-bench $(BUILD)

# The Debian packages (debian/, dpkg-buildpackage) into dist/, lintian-checked.
package: deps
	scripts/build-package dist

# Build the packages, install them into a clean Debian 12 root, provision, run, log in (needs root).
check-package: deps
	scripts/test-package

# arm64 (docs/arm64.md): Debian's cross toolchain and :arm64 libraries, qemu-user-static (root: adds the arm64
# architecture to dpkg and refuses anything that would remove a package).
deps-arm64:
	@scripts/install-deps --arm64

# Cross-build into $(ARM64_BUILD), the cmocka unit tests under qemu-aarch64, the stripped sizes.
check-arm64: deps-arm64
	scripts/check-arm64 $(ARM64_BUILD)

# The provisioning and first-login system tests against safecamd arm64 under qemu (a build without the seccomp
# allowlists, which qemu-user cannot load: build-arm64-noseccomp).
check-arm64-system: deps-arm64
	scripts/check-arm64 --system

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(ARM64_BUILD) build-arm64-noseccomp dist
