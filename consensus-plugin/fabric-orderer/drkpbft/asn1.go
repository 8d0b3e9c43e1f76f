package drkpbft

import "encoding/asn1"

func asn1Unmarshal(b []byte, v interface{}) ([]byte, error) { return asn1.Unmarshal(b, v) }
