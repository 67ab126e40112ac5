// libpkiflow umbrella header: the public API of the PKI core, and the lifecycle for programs
// that embed pkiflow (pkiflow/engine.hpp).
#pragma once

#include "engine/pki/certificate.hpp"
#include "engine/pki/crl.hpp"
#include "engine/pki/csr.hpp"
#include "engine/pki/encoded_file.hpp"
#include "engine/pki/key.hpp"
#include "engine/pki/local_ca.hpp"
#include "engine/pki/passphrase.hpp"
#include "engine/pki/profile.hpp"
#include "engine/pki/result.hpp"
#include "engine/pki/rng.hpp"
#include "engine/pki/time_format.hpp"
#include "engine/pki/validate/batch.hpp"
#include "engine/pki/validate/chain_report.hpp"
#include "engine/pki/validate/report_format.hpp"
#include "engine/pki/validate/rule_catalog.hpp"
#include "engine/pki/validate/validator.hpp"
#include "engine/pki/x509_vocabulary.hpp"
#include "pkiflow/engine.hpp"
