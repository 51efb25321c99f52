package main

import "github.com/aws/aws-sdk-go-v2/service/sqs/types"

type sqsAttr = types.QueueAttributeName
