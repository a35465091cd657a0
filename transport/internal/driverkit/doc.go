// Package driverkit holds what the transport drivers share: validation
// of operations and topics, and the Mailbox that calls a node's Handler.
package driverkit
