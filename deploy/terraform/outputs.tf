output "queue_url" {
  description = "The worker's --queue-url."
  value       = aws_sqs_queue.uploads.id
}

output "dead_letter_queue_url" {
  description = "Where messages go after max_receive_count failed receives."
  value       = aws_sqs_queue.dlq.id
}

output "output_uri" {
  description = "The worker's --out."
  value       = "s3://${aws_s3_bucket.output.bucket}/${var.output_prefix}"
}

output "worker_role_arn" {
  description = "Annotate the worker's service account with it (eks.amazonaws.com/role-arn)."
  value       = aws_iam_role.worker.arn
}

output "ground_truth_role_arn" {
  description = "Execution role of the Ground Truth labeling jobs."
  value       = aws_iam_role.ground_truth.arn
}

output "kms_key_arn" {
  description = "The outputs' SSE-KMS key (aws.kms_key_id)."
  value       = aws_kms_key.output.arn
}

output "vector_index" {
  description = "output.vector_index for the worker's configuration"
  value       = "s3vectors://${aws_s3vectors_vector_bucket.vectors.vector_bucket_name}/${aws_s3vectors_index.chunks.index_name}"
}
