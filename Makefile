# imagestack: see README.md.
GO      ?= go
BIN     := bin/imagestack
CONFIG  ?= etc/imagestack.yaml

.PHONY: build run test test-env vet bench soak clean topology topology-stop

build:
	$(GO) build -o $(BIN) ./cmd/imagestack

# Builds and starts every API in the foreground (identity :5000, image :9292,
# compute :8774); state under ./var unless STATE_DIR says otherwise.
run: build
	./$(BIN) -config $(CONFIG)

vet:
	$(GO) vet ./...

# The whole suite. As root, scripts/test-env.sh first installs and starts
# whatever engine is missing (MariaDB, MinIO, libvirt+QEMU, openstack CLI).
test:
	@set -e; eval "$$(bash scripts/test-env.sh)"; \
	  test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }; \
	  $(GO) vet ./...; \
	  $(GO) test -count=1 -timeout 45m ./...

# Benchmarks that print figures and same-run ratios.
bench:
	@set -e; eval "$$(bash scripts/test-env.sh)"; \
	  $(GO) test -run '^$$' -bench . -timeout 90m ./...

# The reliability suite's long versions (crash safety, engine faults, load,
# fuzzing; see README "Reliability suite"), ending with a summary of figures.
soak:
	@set -e; eval "$$(bash scripts/test-env.sh)"; GO=$(GO) bash scripts/soak.sh

# The test topology of several processes (doc/topology.md), as root:
# `eval "$$(make -s topology)"` starts it and sets its exports.
topology: build
	@IMAGESTACK_BIN=$(CURDIR)/$(BIN) bash scripts/topology.sh start

topology-stop:
	@bash scripts/topology.sh stop

clean:
	rm -rf bin
