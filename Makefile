# The two commands a newcomer needs (see README.md):
#   make serve   install what is missing, build, serve examples/streaming.c
#   make test    install what is missing, build, run every test
# SAN=1 builds with ASan+UBSan (into build-san/).

DEB_PACKAGES := build-essential cmake pkg-config curl python3 \
	libuv1-dev libh2o-dev libssl-dev libjansson-dev libmsgpack-dev libcmocka-dev \
	libcurl4-openssl-dev
BENCH_PACKAGES := wrk hyperfine nghttp2-client python3-fastapi python3-uvicorn

ifeq ($(SAN),1)
BUILD := build-san
CMAKE_FLAGS := -DSLUICE_SANITIZE=ON
else
BUILD := build
CMAKE_FLAGS :=
endif

APP ?= examples/streaming.c
JOBS ?= 2

.PHONY: all deps bench-deps build serve test bench clean

all: build

deps:
	@dpkg -s $(DEB_PACKAGES) >/dev/null 2>&1 || \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(DEB_PACKAGES); }

bench-deps: deps
	@dpkg -s $(BENCH_PACKAGES) >/dev/null 2>&1 || \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(BENCH_PACKAGES); }

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

serve: build
	./$(BUILD)/sluice serve $(APP)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

bench: bench-deps build
	bench/run.sh $(if $(QUICK),--quick,)

clean:
	rm -rf build build-san
