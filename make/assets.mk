# Browser bundles in app/static/dist/ (gitignored), built from assets/ with esbuild from npm.
# Included by the Makefile; also usable alone from the repository root: `make -f make/assets.mk assets`.
#   1. Node.js and npm come from Debian (apt-get, as root or through sudo) when `node` or `npm` is missing.
#   2. `npm ci` runs only when package.json or package-lock.json changed (stamp in node_modules/).
#   3. The bundles are rebuilt only when a source changed.
# After one successful run everything here works offline.

NPM ?= npm
ASSETS_SRC := $(wildcard assets/*.js assets/*.mjs assets/receipt/*.js assets/*.scss assets/scss/*.scss) package.json
ASSETS_NODE_STAMP := node_modules/.ci-stamp
ASSETS_DIST_STAMP := app/static/dist/.built

.PHONY: assets assets-node assets-clean screenshots

assets: $(ASSETS_DIST_STAMP)

# Order-only prerequisite below: this runs every time but never forces a reinstall or rebuild by itself.
assets-node:
	@if ! command -v node >/dev/null 2>&1 || ! command -v $(NPM) >/dev/null 2>&1; then \
	  echo "node/npm not found: installing Debian's nodejs and npm"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; \
	  elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	  else echo "need root or sudo to apt-get install nodejs npm (or install Node.js >= 18 yourself)" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm; \
	fi

$(ASSETS_NODE_STAMP): package.json package-lock.json | assets-node
	$(NPM) ci --no-audit --no-fund --prefer-offline
	@touch $@

$(ASSETS_DIST_STAMP): $(ASSETS_SRC) $(ASSETS_NODE_STAMP)
	$(NPM) run build
	@touch $@

assets-clean:
	rm -rf app/static/dist node_modules

# The main pages of each role in zh-CN at 1280 and 375 px in docs/screenshots/<role>-<page>-<width>.png (the README
# shows a few), taken on a live server with a scene built through the API (tests/browser/screenshots.py); then the
# sign-in and account pages the design system's axe-core test keeps there.
screenshots: $(ASSETS_DIST_STAMP)
	$(or $(VENV),.venv)/bin/python -m tests.browser.screenshots
	UPDATE_SCREENSHOTS=1 $(or $(VENV),.venv)/bin/pytest -q -p no:randomly tests/browser/test_design.py
