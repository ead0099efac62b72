.PHONY: demo test bench fuzz-fresh
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
bench:
	bash scripts/setup.sh && .venv/bin/orbudget bench
fuzz-fresh:
	HYPOTHESIS_PROFILE=fresh .venv/bin/python -m pytest -q tests/fuzz
