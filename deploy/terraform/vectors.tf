# The S3 Vectors index the worker upserts every committed chunk's embedding into
# (output.vector_index: s3vectors://<vector_bucket_name>/chunks). Its dimension must be the
# embedding model's; the worker's policy grants the index's actions on this index only.
resource "aws_s3vectors_vector_bucket" "vectors" {
  vector_bucket_name = "${var.name}-vectors"
}

resource "aws_s3vectors_index" "chunks" {
  vector_bucket_name = aws_s3vectors_vector_bucket.vectors.vector_bucket_name
  index_name         = "chunks"
  data_type          = "float32"
  dimension          = var.vector_dimensions
  distance_metric    = "cosine"
}
