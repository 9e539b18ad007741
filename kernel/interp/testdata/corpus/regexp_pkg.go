package main

import (
	"fmt"
	"regexp"
)

func main() {
	re := regexp.MustCompile(`(\w+)@(\w+)\.com`)
	fmt.Println(re.MatchString("bob@example.com"))
	fmt.Println(re.FindStringSubmatch("mail alice@corp.com now"))
	fmt.Println(re.ReplaceAllString("a@b.com c@d.com", "<$1>"))
	fmt.Println(regexp.MustCompile(`\d+`).FindAllString("a1 b22 c333", -1))
}
