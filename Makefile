# respawn: build, test, demo and benchmark.
GO      ?= go
BIN     := bin
BINS    := $(BIN)/respawn $(BIN)/respawnctl

.PHONY: all build deps test demo bench soak fuzz clean

all: build

deps:
	$(GO) mod download

build: deps
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./cmd/...

# The one test command: vet, then every test under the race detector.
# End-to-end tests in test/ build the binaries themselves.
test: deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

demo: build
	./demo/demo.sh

bench: build
	./bench/run.sh

# Ten minutes of everything at once (SOAK_SECONDS=600); run as root.
soak: build
	./bench/soak.py

fuzz: deps
	./.ci/fuzz.sh

clean:
	rm -rf $(BIN)
