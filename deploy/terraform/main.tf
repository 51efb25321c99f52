terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      # 6.x: the S3 Vectors resources (vectors.tf) are in the 6 series; the exact minor
      # that added them was not checked here
      version = ">= 6.0"
    }
  }
}

# A module: the caller configures the aws provider (examples/complete shows one, with a
# remote state backend).

data "aws_caller_identity" "current" {}

# Outputs are encrypted with a key of their own.
resource "aws_kms_key" "output" {
  description         = "${var.name} outputs"
  enable_key_rotation = true
}

resource "aws_kms_alias" "output" {
  name          = "alias/${var.name}-output"
  target_key_id = aws_kms_key.output.key_id
}

resource "aws_s3_bucket" "input" {
  bucket = var.input_bucket_name
}

resource "aws_s3_bucket" "output" {
  bucket = var.output_bucket_name
}

# Versioning on both buckets: an overwritten or deleted upload or output can be recovered
# for noncurrent_version_days, after which its old versions expire; incomplete multipart
# uploads (a worker killed mid-write) are aborted after a week.
locals {
  buckets = { input = aws_s3_bucket.input.id, output = aws_s3_bucket.output.id }
}

resource "aws_s3_bucket_versioning" "buckets" {
  for_each = local.buckets
  bucket   = each.value
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "buckets" {
  for_each   = local.buckets
  bucket     = each.value
  depends_on = [aws_s3_bucket_versioning.buckets]
  rule {
    id     = "expire-noncurrent-abort-incomplete"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_s3_bucket_public_access_block" "input" {
  bucket                  = aws_s3_bucket.input.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_public_access_block" "output" {
  bucket                  = aws_s3_bucket.output.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "output" {
  bucket = aws_s3_bucket.output.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.output.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name}-uploads-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "uploads" {
  name                       = "${var.name}-uploads"
  visibility_timeout_seconds = var.visibility_timeout_seconds
  receive_wait_time_seconds  = 20
  message_retention_seconds  = 1209600
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.uploads.arn]
  })
}

# S3 may send the input bucket's events to the queue, and nothing else may.
data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "S3Events"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.uploads.arn]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.input.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sqs_queue_policy" "uploads" {
  queue_url = aws_sqs_queue.uploads.id
  policy    = data.aws_iam_policy_document.queue.json
}

resource "aws_s3_bucket_notification" "input" {
  bucket = aws_s3_bucket.input.id
  # LifecycleExpiration: an object a lifecycle rule expires is a removal too
  queue {
    queue_arn = aws_sqs_queue.uploads.arn
    events    = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"]
  }
  depends_on = [aws_sqs_queue_policy.uploads]
}
