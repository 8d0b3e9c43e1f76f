// Fabric's orderer, unchanged: the build replaces one Fabric file (server/main.go) with a
// generated copy that registers DRKPBFT under "BFT" when orderer.yaml asks for it.
package main

import "github.com/hyperledger/fabric/orderer/common/server"

func main() {
	server.Main()
}
