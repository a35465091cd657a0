// Command embed is a host service that mounts sockudo under /pusher on its
// own mux and signs channel subscriptions and user sign-ins at its own
// endpoints with sockudo's helpers, with no other Pusher SDK.
//
//	go run ./examples/embed
//
// pusher-js then connects with
//
//	new Pusher("app-key", {cluster: "local", wsHost: "127.0.0.1", wsPort: 8080,
//	  wsPath: "/pusher", forceTLS: false, enabledTransports: ["ws"],
//	  channelAuthorization: {endpoint: "/auth/channel"},
//	  userAuthentication: {endpoint: "/auth/user"}})
package main
