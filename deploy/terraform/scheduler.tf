# Optional: a scheduled reindex as an ECS task, for teams not on Kubernetes (the CronJob in
# deploy/k8s is the other way). Created only when reindex_schedule is set.
locals {
  scheduled_reindex = var.reindex_schedule != "" ? 1 : 0
}

data "aws_iam_policy_document" "scheduler_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count              = local.scheduled_reindex
  name               = "${var.name}-reindex-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_trust.json
}

resource "aws_iam_role_policy" "scheduler" {
  count = local.scheduled_reindex
  name  = "${var.name}-reindex-scheduler"
  role  = aws_iam_role.scheduler[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["ecs:RunTask"]
      Resource = [var.reindex_task_definition_arn]
    }]
  })
}

resource "aws_scheduler_schedule" "reindex" {
  count               = local.scheduled_reindex
  name                = "${var.name}-reindex"
  schedule_expression = var.reindex_schedule
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = var.reindex_ecs_cluster_arn
    role_arn = aws_iam_role.scheduler[0].arn
    ecs_parameters {
      task_definition_arn = var.reindex_task_definition_arn
      launch_type         = "FARGATE"
      network_configuration {
        subnets = var.reindex_subnets
      }
    }
  }
}
