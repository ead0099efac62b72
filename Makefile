.PHONY: demo test bench properties fuzz-fresh
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
bench:
	bash scripts/setup.sh && .venv/bin/orbudget bench
properties:
	bash scripts/setup.sh && ORBUDGET_PROPERTY_EXAMPLES=$${N:-500} .venv/bin/python -m pytest -q tests/fuzz -k "not malformed and not summary" --hypothesis-show-statistics
fuzz-fresh:
	bash scripts/setup.sh && HYPOTHESIS_PROFILE=fresh .venv/bin/python -m pytest -q tests/fuzz
