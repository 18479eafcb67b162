// Every tensor-level op, for callers that use many of them (layers, models).
#pragma once

#include "engine/ops/activation.h"
#include "engine/ops/attention.h"
#include "engine/ops/embedding.h"
#include "engine/ops/kv_quant.h"
#include "engine/ops/linear.h"
#include "engine/ops/mamba.h"
#include "engine/ops/norm.h"
#include "engine/ops/rope.h"
#include "engine/ops/sampling.h"
