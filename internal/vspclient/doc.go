// Package vspclient lets tests hold the switch's VSP REST face against
// VECOZO's published OpenAPI descriptions: the subpackages pull, push and
// status are Go clients generated from those descriptions, and Checker
// validates the traffic of any client against them.
package vspclient
