package data_test

import (
	"fmt"

	"github.com/qlab-dev/qlab/qlab/data"
	"github.com/qlab-dev/qlab/qlab/tensor"
)

func ExampleLoader() {
	images := tensor.New(10, 1, 2, 2) // ten 1x2x2 images
	labels := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	ds, err := data.NewDataset("digits", images, labels, data.MNISTClasses)
	if err != nil {
		panic(err)
	}
	l := &data.Loader{Data: ds, BatchSize: 4}
	it := l.Epoch(0)
	for it.Next() {
		x, y := it.Batch()
		fmt.Println(x.Shape, y)
	}
	// Output:
	// [4 1 2 2] [0 1 2 3]
	// [4 1 2 2] [4 5 6 7]
	// [2 1 2 2] [8 9]
}

func ExampleMNIST() {
	train, test, err := data.MNIST()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(train)
	fmt.Println(test)
	// Output:
	// Dataset "MNIST train": 60000 samples of [1 28 28], 10 classes
	// Dataset "MNIST test": 10000 samples of [1 28 28], 10 classes
}
