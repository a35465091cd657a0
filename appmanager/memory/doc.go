// Package memory is an in-process appmanager.Manager for apps given in code
// or configuration. It also implements appmanager.Lister and
// appmanager.Writer, so a host can add, change and remove apps at run time.
package memory
