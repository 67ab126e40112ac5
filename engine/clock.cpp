#include "engine/clock.hpp"
