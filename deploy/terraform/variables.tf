variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "docingest"
}

variable "region" {
  description = "AWS region of the buckets, queue and key."
  type        = string
  default     = "eu-west-1"
}

variable "input_bucket_name" {
  description = "Bucket documents are uploaded to (created here)."
  type        = string
}

variable "output_bucket_name" {
  description = "Bucket outputs are written to (created here)."
  type        = string
}

variable "output_prefix" {
  description = "Prefix of the outputs in the output bucket, ending in a slash (the worker's --out s3://BUCKET/PREFIX)."
  type        = string
  default     = "v1/"
}

variable "visibility_timeout_seconds" {
  description = "Queue visibility timeout. The worker sets its own on receive (worker.visibility_timeout) and renews it; this must cover worker.drain_timeout plus one heartbeat."
  type        = number
  default     = 300
}

variable "max_receive_count" {
  description = "Receives before a message moves to the dead-letter queue."
  type        = number
  default     = 5
}

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's OIDC provider (IAM roles for service accounts)."
  type        = string
}

variable "oidc_provider_url" {
  description = "URL of the EKS cluster's OIDC provider, without https://."
  type        = string
}

variable "keda_namespace" {
  description = "Namespace of the KEDA operator, which reads the queue depth with the worker's role."
  type        = string
  default     = "keda"
}

variable "keda_service_account" {
  description = "Service account of the KEDA operator."
  type        = string
  default     = "keda-operator"
}

variable "k8s_namespace" {
  description = "Namespace of the worker's service account."
  type        = string
  default     = "docingest"
}

variable "k8s_service_account" {
  description = "Name of the worker's service account."
  type        = string
  default     = "docingest"
}

variable "bedrock_embedding_model" {
  description = "Bedrock model the worker may invoke when embedding.provider is bedrock (embedding.model)."
  type        = string
  default     = "amazon.titan-embed-text-v2:0"
}

variable "sagemaker_embedding_endpoint" {
  description = "SageMaker endpoint the worker may invoke when embedding.provider is sagemaker (embedding.endpoint)."
  type        = string
  default     = "docingest-embeddings"
}

variable "vector_dimensions" {
  description = "Dimensions of the S3 Vectors index: the embedding model's (384 for the default hashing embedder, 1024 for Titan Text Embeddings V2 by default)"
  type        = number
  default     = 384
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic the queue alarms notify (empty: the alarms notify nobody)"
  type        = string
  default     = ""
}

variable "oldest_message_alarm_seconds" {
  description = "Age of the oldest waiting upload past which the oldest-message alarm fires"
  type        = number
  default     = 900
}

variable "noncurrent_version_days" {
  description = "Days an overwritten or deleted object version is kept in the versioned buckets"
  type        = number
  default     = 30
}
