package nn

import "github.com/qlab-dev/qlab/qlab/tensor"

// lastOutput returns the buffer the layer's last Forward wrote, or nil
// before the first Forward; Model.CheckFinite scans it.

func (l *Conv2D) lastOutput() *tensor.Tensor          { return outOrNil(l.x != nil, &l.y) }
func (l *DepthwiseConv2D) lastOutput() *tensor.Tensor { return outOrNil(l.x != nil, &l.y) }
func (l *BatchNorm2D) lastOutput() *tensor.Tensor     { return outOrNil(l.x != nil && l.act == nil, &l.y) }
func (e *elementwise) lastOutput() *tensor.Tensor     { return outOrNil(e.x != nil, &e.y) }
func (p *pool2D) lastOutput() *tensor.Tensor          { return outOrNil(p.x != nil, &p.y) }
func (l *GlobalAvgPool) lastOutput() *tensor.Tensor   { return outOrNil(l.x != nil, &l.y) }
func (l *Dense) lastOutput() *tensor.Tensor           { return outOrNil(l.x != nil, &l.y) }
func (l *Flatten) lastOutput() *tensor.Tensor         { return outOrNil(l.inShape != nil, &l.y) }
func (l *Dropout) lastOutput() *tensor.Tensor         { return outOrNil(l.x != nil, &l.y) }
func (a *Add) lastOutput() *tensor.Tensor             { return outOrNil(a.skip != nil, &a.y) }

func outOrNil(ok bool, t *tensor.Tensor) *tensor.Tensor {
	if ok {
		return t
	}
	return nil
}
