# The Debian package (`cpack -G DEB` in the build directory, or tools/make-deb.sh): the command
# line and the emulator (statically linked against the Botan this build uses, so the package
# installs on Debian 12 without it), a man page per verb group and pkiflow.json(5) generated
# from the help text, the sample configuration, and the systemd service and timer (installed
# disabled). postinst creates the pkiflow system user, /var/lib/pkiflow (0700) and /etc/pkiflow.
include(GNUInstallDirs)

set(PKIFLOW_MAN_DIR ${CMAKE_CURRENT_BINARY_DIR}/man)
add_custom_command(
  OUTPUT ${PKIFLOW_MAN_DIR}/man1/pkiflow.1.gz
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/tools/make-man.sh $<TARGET_FILE:pkiflow_cli>
          ${PKIFLOW_MAN_DIR} ${PROJECT_VERSION}
  DEPENDS pkiflow_cli ${CMAKE_CURRENT_SOURCE_DIR}/tools/make-man.sh
  COMMENT "Man pages from pkiflow's help")
add_custom_target(pkiflow_man ALL DEPENDS ${PKIFLOW_MAN_DIR}/man1/pkiflow.1.gz)

install(DIRECTORY ${PKIFLOW_MAN_DIR}/ DESTINATION ${CMAKE_INSTALL_MANDIR} COMPONENT runtime)
install(FILES samples/systemd/pkiflow.service samples/systemd/pkiflow.timer
        DESTINATION lib/systemd/system COMPONENT runtime)
install(FILES samples/pkiflow.json samples/pkiflow-alerts.yml samples/pkiflow.cron DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        COMPONENT runtime)
install(FILES README.md packaging/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
# The command signers' recipes (samples/signers/README.md): the scripts where a configuration's
# "command" can name them, their contract and openssl ca set-up beside the other examples.
install(PROGRAMS samples/signers/openssl-ca.sh samples/signers/step-ca.sh
                 samples/signers/adcs-certreq.sh
        DESTINATION lib/pkiflow/signers COMPONENT runtime)
install(FILES samples/signers/README.md samples/signers/openssl-ca.cnf
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/signers COMPONENT runtime)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pkiflow)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "pkiflow")
set(CPACK_PACKAGE_CONTACT "pkiflow maintainers <pkiflow@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "CA certificate lifecycle for Microsoft Graph (Entra CBA, GSA TLS inspection, Intune)")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME pkiflow)
set(CPACK_DEBIAN_RUNTIME_FILE_NAME pkiflow_${PROJECT_VERSION}_amd64.deb)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE amd64)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS
    "libc6 (>= 2.36), libstdc++6 (>= 12), libgcc-s1, libsqlite3-0 (>= 3.40), libpq5 (>= 15), libssl3 (>= 3.0.0), passwd")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "pkiflow tracks each CA certificate that Microsoft services take through Microsoft Graph\n\
(Entra certificate-based-auth CAs, Global Secure Access TLS-inspection CAs, Intune code\n\
signing) from CSR to signature to upload to active, renews and retires them, and keeps every\n\
record and its history in a local state store. Includes the local Graph emulator.")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_SOURCE_DIR}/packaging/deb/postinst
    ${CMAKE_CURRENT_SOURCE_DIR}/packaging/deb/prerm
    ${CMAKE_CURRENT_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
