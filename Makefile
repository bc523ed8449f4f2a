# The two commands a newcomer needs (see README.md):
#   make serve   install what is missing, build, serve examples/streaming.c
#   make test    install what is missing, build, run every test, then
#                again under ASan+UBSan (SAN=0 / SAN=1: only one of the two)
#   make fuzz    build the libFuzzer targets (clang, into build-fuzz/) and run
#                each for FUZZ_SECONDS (docs/fuzzing.md)
# SAN=1 builds with ASan+UBSan (into build-san/); SAN=0 without.

DEB_PACKAGES := build-essential cmake pkg-config curl python3 \
	libuv1-dev libh2o-dev libssl-dev libjansson-dev libmsgpack-dev libcmocka-dev \
	libcurl4-openssl-dev procps iproute2
BENCH_PACKAGES := wrk nghttp2-client python3-fastapi python3-uvicorn
FUZZ_PACKAGES := clang libclang-rt-14-dev
FUZZ_TARGETS := fuzz_frame fuzz_value fuzz_json_args
FUZZ_SECONDS ?= 60

ifeq ($(SAN),1)
BUILD := build-san
CMAKE_FLAGS := -DSLUICE_SANITIZE=ON
else
BUILD := build
CMAKE_FLAGS :=
endif

APP ?= examples/streaming.c
JOBS ?= 2

.PHONY: all deps bench-deps fuzz-deps build serve test bench fuzz clean

all: build

deps:
	@dpkg -s $(DEB_PACKAGES) >/dev/null 2>&1 || \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(DEB_PACKAGES); }

bench-deps: deps
	@dpkg -s $(BENCH_PACKAGES) >/dev/null 2>&1 || \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(BENCH_PACKAGES); }

fuzz-deps: deps
	@dpkg -s $(FUZZ_PACKAGES) >/dev/null 2>&1 || \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(FUZZ_PACKAGES); }

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

serve: build
	./$(BUILD)/sluice serve $(APP)

# make test runs the suite on the plain build, then again under ASan+UBSan
# (build-san/): what CI runs. SAN=0 or SAN=1 runs just one of them.
ifeq ($(SAN),)
test:
	$(MAKE) --no-print-directory test SAN=0
	$(MAKE) --no-print-directory test SAN=1
else
test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
endif

bench: bench-deps build
	bench/run.sh $(if $(QUICK),--quick,)

# New inputs go to build-fuzz/fuzz-corpus/ (scratch), crashes to
# build-fuzz/fuzz-crashes/; the committed corpus is only read.
fuzz: fuzz-deps
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DSLUICE_FUZZ=ON >/dev/null
	cmake --build build-fuzz -j$(JOBS) --target $(FUZZ_TARGETS)
	tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf build build-san build-fuzz
