# Installs kmod-ready, for distribution packagers and packaging/build-packages:
#
#   cargo build --release --locked
#   make install DESTDIR=/path/to/root BINARY=target/release/kmod-ready \
#       CHECK_BINARY=target/release/kmod-ready-check
#
# BINARY and CHECK_BINARY are required: they are the files cargo built for
# the architecture being packaged (cargo puts cross builds under
# target/TRIPLE/release/), and a default could install a stale one.
# CHECK_BINARY is `kmod-ready check`'s own program, which kmod-ready runs
# from beside itself. Installs the two binaries, the drop-in for
# MicroK8s's kubelite unit, the metrics service and timer, the journal
# catalog (what `journalctl -x` shows below our entries), the man pages
# (built with lowdown, not compressed: packaging tools compress man pages
# their own way) and the configuration for node-problem-detector
# (docs/fleet.md), usable as it is.

prefix ?= /usr
sbindir ?= $(prefix)/sbin
mandir ?= $(prefix)/share/man
systemdsystemunitdir ?= $(prefix)/lib/systemd/system
catalogdir ?= $(prefix)/lib/systemd/catalog
datadir ?= $(prefix)/share
# Where the man page is rendered (target/ is cargo's, and ignored by git).
builddir ?= target/man

kubelite_dropin = snap.microk8s.daemon-kubelite.service.d/50-kmod-ready.conf
# check --prometheus run by a timer, for node_exporter (kmod-ready-check(8)).
metrics_units = kmod-ready-metrics.service kmod-ready-metrics.timer

.PHONY: all man install

all: man

man_pages = kmod-ready.8 kmod-ready-check.8

man: $(addprefix $(builddir)/,$(man_pages))

$(builddir)/%.8: packaging/man/%.8.md
	@mkdir -p $(builddir)
	lowdown -s -Tman --out-no-smarty --parse-no-intraemph -o $@ $<

install: man
	@test -n "$(BINARY)" || { echo 'make install: BINARY is not set: pass BINARY=path/to/kmod-ready (the file cargo built)' >&2; exit 2; }
	@test -f "$(BINARY)" || { echo 'make install: BINARY=$(BINARY) does not exist: build it with cargo first' >&2; exit 2; }
	@test -n "$(CHECK_BINARY)" || { echo 'make install: CHECK_BINARY is not set: pass CHECK_BINARY=path/to/kmod-ready-check (the file cargo built)' >&2; exit 2; }
	@test -f "$(CHECK_BINARY)" || { echo 'make install: CHECK_BINARY=$(CHECK_BINARY) does not exist: build it with cargo first' >&2; exit 2; }
	install -D -m 0755 $(BINARY) $(DESTDIR)$(sbindir)/kmod-ready
	install -m 0755 $(CHECK_BINARY) $(DESTDIR)$(sbindir)/kmod-ready-check
	install -D -m 0644 systemd/$(kubelite_dropin) $(DESTDIR)$(systemdsystemunitdir)/$(kubelite_dropin)
	install -m 0644 $(addprefix systemd/,$(metrics_units)) $(DESTDIR)$(systemdsystemunitdir)/
	install -D -m 0644 systemd/kmod-ready.catalog $(DESTDIR)$(catalogdir)/kmod-ready.catalog
	install -D -m 0644 docs/node-problem-detector.json $(DESTDIR)$(datadir)/kmod-ready/node-problem-detector.json
	install -d -m 0755 $(DESTDIR)$(mandir)/man8
	install -m 0644 $(addprefix $(builddir)/,$(man_pages)) $(DESTDIR)$(mandir)/man8/
