# Entry points for people and CI. The real work is in scripts/ so it can be
# run directly too.

.PHONY: run test test-ollama bench build lint

run:
	COMPANIN_DEPS=runtime scripts/deps
	go run ./cmd/companin serve

test:
	scripts/test

# The tests against a real Ollama server (built by scripts/ollama, about four
# minutes once) with a generated tiny model.
test-ollama:
	COMPANIN_OLLAMA_TESTS=1 scripts/test

# Benchmarks only (-run '^$$' skips tests), without the race detector, which
# would distort timings.
bench:
	scripts/test -race=false -run '^$$' -bench . -benchmem

build:
	go build -o bin/companin ./cmd/companin

lint:
	go vet ./...
