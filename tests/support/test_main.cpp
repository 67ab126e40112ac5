#define BOOST_TEST_MODULE pkiflow
#include <boost/test/unit_test.hpp>
