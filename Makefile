# respawn: build, install, package, test, demo and benchmark.
GO      ?= go
BIN     := bin
BINS    := $(BIN)/respawn $(BIN)/respawnctl
MANS    := $(BIN)/man/respawn.8 $(BIN)/man/respawnctl.8

# make install puts files under these; DESTDIR is put before each (a
# staging root, as make deb uses it).
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions

# The version both binaries print with --version: git describe in a git
# checkout, dev otherwise (a tarball without .git). VERSION=... overrides.
ifeq ($(origin VERSION),undefined)
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
endif
LDFLAGS := -X main.version=$(VERSION)

# The man pages' date is the last commit's, so that a rebuild of one
# commit gives the same pages.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)
ifneq ($(SOURCE_DATE_EPOCH),)
export SOURCE_DATE_EPOCH
endif

.PHONY: all build deps test demo bench soak fuzz clean man install uninstall deb need-scdoc

all: build

deps:
	$(GO) mod download

# CGO_ENABLED=0: one static binary, which runs on any Linux of the same
# architecture (copy it, or put it in an empty container image).
build: deps
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

# The man pages are written for scdoc (doc/*.scd) and rendered to roff.
# scdoc's .nh (no hyphenation) comes before .TH, which turns hyphenation
# back on in groff's man macros and would cut $XDG_RUNTIME_DIR in two at
# a line's end: .nh is said again after .TH.
man: $(MANS)

$(BIN)/man/%.8: doc/%.8.scd | need-scdoc
	@mkdir -p $(@D)
	scdoc < $< > $@.tmp && sed -i '/^\.TH /a .nh' $@.tmp && mv $@.tmp $@

# scdoc is Debian's package of that name: installed when missing, as root.
need-scdoc:
	@command -v scdoc >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && apt-get install -y -qq scdoc >/dev/null; } || \
		{ echo 'make: the man pages need scdoc: apt-get install scdoc' >&2; exit 1; }

install: build man
	$(install-files)

define install-files
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(MANS) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 completion/respawnctl.bash $(DESTDIR)$(BASHCOMPDIR)/respawnctl
	install -m 0644 completion/respawnctl.zsh $(DESTDIR)$(ZSHCOMPDIR)/_respawnctl
endef

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/respawn $(DESTDIR)$(BINDIR)/respawnctl \
		$(DESTDIR)$(MANDIR)/man8/respawn.8 $(DESTDIR)$(MANDIR)/man8/respawnctl.8 \
		$(DESTDIR)$(BASHCOMPDIR)/respawnctl $(DESTDIR)$(ZSHCOMPDIR)/_respawnctl

# A Debian package of this build in $(BIN)/, made with dpkg-deb alone
# (dist/mkdeb) from the files make install puts under a staging root, at
# Debian's paths whatever PREFIX says. DEB_COMPRESSION=gzip is faster
# than xz (dpkg-deb's default), and the package bigger.
DEB_COMPRESSION ?= xz
deb: override DESTDIR = $(abspath $(BIN))/deb
deb: override BINDIR = /usr/bin
deb: override MANDIR = /usr/share/man
deb: override BASHCOMPDIR = /usr/share/bash-completion/completions
deb: override ZSHCOMPDIR = /usr/share/zsh/vendor-completions
deb: build man
	rm -rf $(DESTDIR)
	$(install-files)
	DEB_COMPRESSION=$(DEB_COMPRESSION) ./dist/mkdeb $(DESTDIR) $(VERSION) $(BIN)
	rm -rf $(DESTDIR)

# The one test command: vet, then every test under the race detector.
# End-to-end tests in test/ build the binaries themselves.
test: deps need-scdoc
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
