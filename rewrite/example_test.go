package rewrite_test

import (
	"context"
	"fmt"

	"github.com/quarrylabs/quarry/rewrite"
)

func ExampleLocal() {
	vocab := rewrite.MapVocabulary{"hybrid": 12, "search": 40, "quantization": 3}
	l := rewrite.NewLocal(vocab)
	qs, _ := l.Rewrite(context.Background(), "Can you tell me about hybird search? And also what is quantizaton, thanks!")
	for _, q := range qs {
		fmt.Println(q)
	}
	// Output:
	// hybrid search what is quantization
	// hybrid search
	// what is quantization
}
