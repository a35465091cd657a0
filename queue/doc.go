// Package queue defines the background job queue a sockudo server uses to
// deliver webhooks: at-least-once jobs with acknowledgement, redelivery with
// back-off, and graceful shutdown.
//
// Drivers live in subpackages: memory (bounded, in-process), redis (rueidis,
// standalone or Cluster; jobs survive a crash), sqs (AWS SQS, standard or
// FIFO) and none (no background processing). The conformance suite in
// queuetest is the contract every driver must pass.
package queue
