#!/usr/bin/env bash
# OCR accuracy and speed on real documents the tests do not use: pages of the PDF manuals
# in Debian's r-doc-pdf and gnuplot-doc packages, rendered at 300 DPI and wrapped into
# image-only PDFs, read by docingest's OCR and, for the time, by pdftoppm + tesseract
# called directly on the same pages (bench/ocrbench). Word overlap is scored against each
# page's text layer (pdftotext). Issue 20's targets: median word overlap >= 0.95 at 300
# DPI; docingest <= 1.10x the bare calls. Then the same pages as mixed PDFs (every other
# page scanned: only those are read by OCR), and the hostile images of internal/hostile,
# each of which must end in its failure record (rows marked !! do not).
#   bench/ocr.sh            # 4 pages from each of up to 6 manuals
#   PAGES=2 bench/ocr.sh
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=bench/corpus/ocr
for tool in tesseract pdftoppm pdftotext; do
  command -v $tool >/dev/null || { echo "needs $tool (Debian: tesseract-ocr, poppler-utils; scripts/test installs them)" >&2; exit 1; }
done
if [ ! -d "$corpus/root" ]; then
  mkdir -p "$corpus/debs" "$corpus/root"
  (cd "$corpus/debs" && for p in r-doc-pdf gnuplot-doc; do apt-get download "$p" >/dev/null 2>&1 || echo "skipped $p" >&2; done)
  for d in "$corpus"/debs/*.deb; do dpkg -x "$d" "$corpus/root"; done
fi
mapfile -t pdfs < <(find "$corpus/root" -name '*.pdf' -size +100k | sort | head -n "${PDFS:-6}")
[ ${#pdfs[@]} -gt 0 ] || { echo "no PDFs in $corpus" >&2; exit 1; }
go run ./bench/ocrbench -pages "${PAGES:-4}" -concurrency "${CONCURRENCY:-2}" "${pdfs[@]}"
