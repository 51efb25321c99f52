# Shared by the bench scripts (source it after setting root, the repository's top folder).

# build_at REV OUT: builds cmd/docingest as it was at REV into OUT, from a detached worktree.
build_at() {
	local tree
	tree="$(mktemp -d)"
	git -C "$root" worktree add -f --detach "$tree" "$1" >/dev/null 2>&1
	(cd "$tree" && go build -o "$2" ./cmd/docingest)
	git -C "$root" worktree remove --force "$tree"
}

# sample_files133 N DEST: copies the first N files of bench/throughput.sh's files133 set
# (text the tests do not use) into DEST, made anew.
sample_files133() {
	local src="$root/bench/corpus/throughput/files133"
	[ -d "$src" ] || { echo "no $src: run bench/throughput.sh once to build the corpus" >&2; exit 1; }
	rm -rf "$2" && mkdir -p "$2"
	ls "$src" | sort | head -n "$1" | while read -r f; do cp "$src/$f" "$2/"; done
}
