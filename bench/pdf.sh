#!/usr/bin/env bash
# PDF extraction against pdftotext, on real PDFs from Debian documentation packages.
#
# Downloads the packages (apt-get download + dpkg -x, no root needed), and poppler-utils
# with its library unpacked the same way for the reference pdftotext, into
# bench/corpus/pdf (git-ignored); then runs bench/peers/cmd/pdfbench, which prints for
# pdftotext, the default backend (docingest extract-pdf children, as the pipeline runs
# them) and the PDFium backend: files OK / failed by reason, pages/s, MB/s, peak RSS and
# the word-set overlap with pdftotext (mean and median).
#
#   bench/pdf.sh
#   BENCH_PDF_PKGS="gnuplot-doc r-doc-pdf" bench/pdf.sh
#   BENCH_PDF_LIMIT=50 bench/pdf.sh        # the first 50 files only
#   BENCH_PDF_FLAGS="-skip-pdfium -worst 20" bench/pdf.sh   # children only; list the 20 files read least like pdftotext
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$root/bench/corpus/pdf"
results="$root/bench/results/pdf"
pkgs="${BENCH_PDF_PKGS:-texlive-latex-base-doc gnuplot-doc r-doc-pdf octave-doc lilypond-doc-pdf live-manual-pdf texlive-pictures-doc}"
mkdir -p "$corpus/debs" "$corpus/poppler" "$results"

if [ ! -d "$corpus/root" ]; then
	(
		cd "$corpus/debs"
		for p in $pkgs; do apt-get download "$p" >/dev/null 2>&1 || echo "skipped $p (not available here)" >&2; done
	)
	mkdir -p "$corpus/root"
	for d in "$corpus"/debs/*.deb; do dpkg -x "$d" "$corpus/root"; done
	find "$corpus/root" -name '*.pdf.gz' -exec gunzip -f {} +
fi
pdftotext="$(command -v pdftotext || true)"
if [ -z "$pdftotext" ]; then
	if [ ! -x "$corpus/poppler/usr/bin/pdftotext" ]; then
		(
			cd "$corpus/poppler"
			apt-get download poppler-utils libpoppler126 libopenjp2-7 >/dev/null
			for d in *.deb; do dpkg -x "$d" .; done
		)
	fi
	export LD_LIBRARY_PATH="$corpus/poppler/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	pdftotext="$corpus/poppler/usr/bin/pdftotext"
fi
"$pdftotext" -v 2>&1 | head -1

go build -o "$results/docingest" "$root/cmd/docingest"
(cd "$root/bench/peers" && go build -o "$results/pdfbench" ./cmd/pdfbench)
"$results/pdfbench" -dir "$corpus/root" -docingest "$results/docingest" -pdftotext "$pdftotext" -limit "${BENCH_PDF_LIMIT:-0}" ${BENCH_PDF_FLAGS:-} | tee "$results/pdf.txt"
