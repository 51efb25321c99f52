# The worker's role, assumed by its Kubernetes service account (IRSA). Its actions are
# exactly those of deploy/iam-actions.json, the table from the SDK operations the code
# calls to IAM actions, which deploy/deploy_test.go checks against the code and this file.
data "aws_iam_policy_document" "worker_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider_url}:sub"
      # the worker's service account, and KEDA's: its aws-sqs-queue scaler
      # (TriggerAuthentication identityOwner: workload) assumes this role with the KEDA
      # operator's own token to read the queue depth
      values = [
        "system:serviceaccount:${var.k8s_namespace}:${var.k8s_service_account}",
        "system:serviceaccount:${var.keda_namespace}:${var.keda_service_account}",
      ]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider_url}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "worker" {
  name               = "${var.name}-worker"
  assume_role_policy = data.aws_iam_policy_document.worker_trust.json
}

data "aws_iam_policy_document" "worker" {
  statement {
    sid       = "ReadSources"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.input.arn}/*"]
  }
  statement {
    sid       = "ListSources"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.input.arn]
  }
  statement {
    sid       = "ListOutputs"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.output.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.output_prefix}*"]
    }
  }
  statement {
    sid       = "WriteOutputs"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.output.arn}/${var.output_prefix}*"]
  }
  statement {
    sid       = "Queue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:SendMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.uploads.arn]
  }
  statement {
    # at start-up: refuse an output bucket that notifies the queue of the worker's own outputs
    sid       = "CheckOutputNotifications"
    actions   = ["s3:GetBucketNotification"]
    resources = [aws_s3_bucket.output.arn]
  }
  statement {
    sid       = "EmbedWithBedrock"
    actions   = ["bedrock:InvokeModel"]
    resources = ["arn:aws:bedrock:${var.region}::foundation-model/${var.bedrock_embedding_model}"]
  }
  statement {
    sid       = "EmbedWithSageMaker"
    actions   = ["sagemaker:InvokeEndpoint"]
    resources = ["arn:aws:sagemaker:${var.region}:${data.aws_caller_identity.current.account_id}:endpoint/${var.sagemaker_embedding_endpoint}"]
  }
  statement {
    sid       = "LabelingJobs"
    actions   = ["sagemaker:CreateLabelingJob", "sagemaker:DescribeLabelingJob", "sagemaker:StopLabelingJob", "sagemaker:AddTags"]
    resources = ["arn:aws:sagemaker:${var.region}:${data.aws_caller_identity.current.account_id}:labeling-job/${var.name}-*"]
  }
  statement {
    sid       = "ListLabelingJobs"
    actions   = ["sagemaker:ListLabelingJobs"]
    resources = ["*"]
  }
  statement {
    # output.vector_index: upserts and deletes follow every commit; docingest query reads
    sid       = "VectorIndex"
    actions   = ["s3vectors:PutVectors", "s3vectors:DeleteVectors", "s3vectors:QueryVectors", "s3vectors:GetVectors"]
    resources = [aws_s3vectors_index.chunks.index_arn]
  }
  statement {
    sid       = "OutputKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.output.arn]
  }
  statement {
    sid       = "PassGroundTruthRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.ground_truth.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["sagemaker.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "worker" {
  name   = "${var.name}-worker"
  role   = aws_iam_role.worker.id
  policy = data.aws_iam_policy_document.worker.json
}

# The role SageMaker Ground Truth assumes to read labeling manifests and write results
# under labeling/ of the output prefix (the labeling issue's jobs use it).
data "aws_iam_policy_document" "ground_truth_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }
    # only for this account's labeling jobs of this deployment (confused deputy)
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:aws:sagemaker:${var.region}:${data.aws_caller_identity.current.account_id}:labeling-job/${var.name}-*"]
    }
  }
}

resource "aws_iam_role" "ground_truth" {
  name               = "${var.name}-ground-truth"
  assume_role_policy = data.aws_iam_policy_document.ground_truth_trust.json
}

data "aws_iam_policy_document" "ground_truth" {
  statement {
    sid       = "LabelingData"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.output.arn}/${var.output_prefix}labeling/*"]
  }
  statement {
    sid       = "ListLabelingData"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.output.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.output_prefix}labeling/*"]
    }
  }
  statement {
    sid       = "OutputKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.output.arn]
  }
}

resource "aws_iam_role_policy" "ground_truth" {
  name   = "${var.name}-ground-truth"
  role   = aws_iam_role.ground_truth.id
  policy = data.aws_iam_policy_document.ground_truth.json
}
