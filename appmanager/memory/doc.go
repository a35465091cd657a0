// Package memory is an in-process appmanager.Manager for apps given in code
// or configuration.
package memory
