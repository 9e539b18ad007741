package main

import (
	"fmt"
	"math/bits"
)

func main() {
	fmt.Println(bits.OnesCount(255), bits.LeadingZeros32(1), bits.TrailingZeros(8))
	fmt.Println(bits.Len(1024), bits.Reverse8(1))
	hi, lo := bits.Mul64(1<<63, 4)
	fmt.Println(hi, lo)
}
