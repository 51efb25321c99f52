# A root module that uses deploy/terraform: the provider and the state backend are the
# caller's. Copy it, set the backend's bucket and the values below, then
#   terraform init && terraform apply
terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0"
    }
  }
  # Remote state in S3 with a lock file (Terraform 1.10 and later).
  backend "s3" {
    bucket       = "acme-terraform-state"
    key          = "docingest/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = "eu-west-1"
}

module "docingest" {
  source = "../.."

  name               = "docingest"
  region             = "eu-west-1"
  input_bucket_name  = "acme-docs-in"
  output_bucket_name = "acme-docs-out"
  output_prefix      = "v1/"
  # the EKS cluster's OIDC provider (aws eks describe-cluster --query cluster.identity.oidc.issuer)
  oidc_provider_arn   = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
  oidc_provider_url   = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
  alarm_sns_topic_arn = "arn:aws:sns:eu-west-1:111122223333:ops-alerts"
}

output "queue_url" {
  value = module.docingest.queue_url
}

output "worker_role_arn" {
  value = module.docingest.worker_role_arn
}

output "vector_index" {
  value = module.docingest.vector_index
}
