# Knooppunt — build, run and test on a fresh Debian/Ubuntu machine.
#
#   make run    install build dependencies if missing, build, start the switch on its embedded defaults
#               (flags for serve in ARGS: make run ARGS='--addr 127.0.0.1:9000')
#   make test   install build dependencies if missing, then run every test
#   make image  build the container image (needs a Docker daemon)

GO      ?= go
BIN     := bin/knooppunt
APT_PKGS := libxml2-dev pkg-config gcc xmlsec1
# Independent SOAP stacks the tests talk to the switch with (zeep and the
# official StUF-GGk WSDL, signed through python-xmlsec).
TEST_APT_PKGS := python3-zeep python3-xmlsec chromium

IMAGE   ?= knooppunt:local
ARGS    ?=

.PHONY: deps test-deps build run image test unit fuzz bench clean

# deps installs the C libraries the libxml2 binding needs (cgo). As root it
# uses apt-get; otherwise it says what to install and stops.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "missing build dependencies:$$missing"; \
			echo "install them with: sudo apt-get install -y$$missing"; exit 1; \
		fi; \
	fi

build: deps
	$(GO) build -o $(BIN) ./cmd/knooppunt

# run starts the demo switch; ARGS adds flags of serve (knooppunt serve --help).
run: build
	./$(BIN) serve --dev $(ARGS)

# image builds the Dockerfile's image as $(IMAGE). Without a reachable
# Docker daemon it says so and fails; `go test ./deploy` still checks the
# Dockerfile.
image:
	@if ! command -v docker >/dev/null 2>&1; then \
		echo "make image: docker is not installed; the Dockerfile is checked statically by go test ./deploy"; exit 1; \
	elif ! docker info >/dev/null 2>&1; then \
		echo "make image: no Docker daemon is reachable (docker info failed); the Dockerfile is checked statically by go test ./deploy"; exit 1; \
	fi
	docker build -t $(IMAGE) .

# test is what CI runs: vet, every test, then a short run of every fuzz target.
test: unit fuzz

# The xsd package runs a second time with the arena's debug build, which
# poisons freed memory and counts leaks and double frees.
# test-deps is deps with what the tests need besides.
test-deps:
	@$(MAKE) --no-print-directory deps APT_PKGS="$(APT_PKGS) $(TEST_APT_PKGS)"

unit: test-deps
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -tags kparenadebug ./xsd/

# fuzz runs each native fuzz target of the module for FUZZTIME; targets are
# found by name, so a new FuzzX is picked up without editing this file.
# Go's fuzzer sometimes ends a short run with a bare "context deadline
# exceeded" while it minimizes a new input at the deadline, writing no
# failing input: such a run is repeated once. A real failure writes its
# input under testdata/fuzz and is never repeated.
FUZZTIME ?= 5s
fuzz: deps
	@for d in $$(grep -rlE '^func Fuzz' --include='*_test.go' . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -hoE '^func Fuzz[A-Za-z0-9_]+' $$d/*_test.go | sed 's/^func //'); do \
			echo "fuzz $$d $$f ($(FUZZTIME))"; \
			out=$$($(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$d 2>&1); rc=$$?; \
			echo "$$out" | grep -v '^fuzz: elapsed'; \
			if [ $$rc -ne 0 ] && echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input written'; then \
				echo "fuzz $$d $$f: deadline flake of the Go fuzzer, no failing input; running it once more"; \
				$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$d || exit 1; \
			elif [ $$rc -ne 0 ]; then exit 1; fi; \
		done; \
	done

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
